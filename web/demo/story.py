"""The demo's cast and texts: bureaus, names, documents, problems, clauses and indicators."""

from __future__ import annotations

ADMIN_ID = "admin"
ADMIN_NAME = "王建国"
MEDIA_TEXT = "text/plain; charset=utf-8"

BUREAUS: tuple[tuple[str, str, str], ...] = (
    ("BJ", "北京分局", "Beijing Bureau"),
    ("SH", "上海分局", "Shanghai Bureau"),
    ("GZ", "广州分局", "Guangzhou Bureau"),
    ("CD", "成都分局", "Chengdu Bureau"),
    ("WH", "武汉分局", "Wuhan Bureau"),
    ("XA", "西安分局", "Xi'an Bureau"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
    "娟", "涛", "明", "超", "霞", "平", "刚", "秀英", "桂英", "建华", "志强",
    "晓东", "海燕", "雪梅", "国庆", "文博", "子涵", "思远", "立新", "红梅", "玉兰",
)  # fmt: skip
GIVEN_ONE = tuple(g for g in GIVEN if len(g) == 1)
HQ_DOCS: tuple[tuple[str, str, str], ...] = (
    ("QM-01", "质量手册 Quality manual", "manual"),
    ("QP-01", "文件控制程序 Document control procedure", "procedure"),
    ("QP-02", "内部审核程序 Internal audit procedure", "procedure"),
    ("QP-03", "纠正措施程序 Corrective action procedure", "procedure"),
)
BUREAU_DOCS: tuple[tuple[str, str, str], ...] = (
    ("QP-01", "检验检测工作程序 Testing procedure", "procedure"),
    ("WI-01", "样品管理作业指导书 Sample handling instruction", "instruction"),
    ("FM-01", "检验原始记录表 Raw test record form", "form"),
    (
        "WI-02",
        "仪器设备期间核查作业指导书 Intermediate check instruction",
        "instruction",
    ),
    ("QP-02", "客户投诉处理程序 Complaint handling procedure", "procedure"),
    ("FM-02", "内部质量控制记录表 Internal quality control form", "form"),
    ("WI-03", "检验方法验证作业指导书 Method verification instruction", "instruction"),
    ("QP-03", "外部供应品控制程序 Purchased supplies procedure", "procedure"),
    (
        "WI-04",
        "测量不确定度评定作业指导书 Measurement uncertainty instruction",
        "instruction",
    ),
    ("FM-03", "设备维护保养记录表 Equipment maintenance form", "form"),
    ("RC-01", "人员培训记录 Training record", "record"),
    ("QP-04", "能力验证管理程序 Proficiency testing procedure", "procedure"),
)
CLAUSES = (
    "4.4",
    "6.1",
    "7.1.5",
    "7.2",
    "7.5.3",
    "8.4",
    "8.5.1",
    "8.7",
    "9.1.3",
    "10.2",
)
PROBLEMS = (
    "原始记录缺少复核签名 Raw records lack the checker's signature",
    "仪器期间核查超期 Intermediate checks of instruments were overdue",
    "样品标识不清 Samples were not identified clearly",
    "培训记录不完整 Training records were incomplete",
    "作业指导书未受控 An uncontrolled copy of an instruction was in use",
    "客户投诉未在时限内答复 A complaint was not answered in time",
    "环境温湿度记录缺失 Temperature and humidity records were missing",
    "供应商评价未按期进行 Supplier evaluation was not done on time",
)
METHODS = ("5 Whys 五问法", "鱼骨图 Fishbone diagram", "故障树 Fault tree analysis")
SOURCES = ("complaint", "supervision", "external_audit", "management_review")
CLASSES = ("major", "minor", "observation", "opportunity")
DUE_DAYS = {"major": 30, "minor": 60, "observation": 90, "opportunity": 120}
INDICATORS: tuple[tuple[str, str, str, str, str, int, int], ...] = (
    # suffix, name, measure, direction, target, low/high value in hundredths
    (
        "OTR",
        "检验报告按时出具率 On-time report rate",
        "%",
        "higher_is_better",
        "95.00",
        9100,
        10000,
    ),
    (
        "CPL",
        "客户投诉率 Complaints per 1000 reports",
        "‰",
        "lower_is_better",
        "2.00",
        40,
        320,
    ),
)
