"""The folds: one projection per record kind, each folding its stream into row versions."""
