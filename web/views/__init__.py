"""The application's pages: one Blueprint per area."""
