"""The simulated departments' vocabularies: categories, subjects, programmes, daily volumes."""

ID_PREFIX = {
    "petition": "XF",
    "dispute": "TJ",
    "hotline": "RX",
    "incident": "SJ",
    "opinion": "YQ",
    "care_visit_due": "GAD",
    "care_visit": "GAV",
}
# Per day at scale 1.
DAILY = {"hotline": 250, "petition": 35, "dispute": 30, "incident": 10, "opinion": 20, "care_visit_due": 40}
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 12, 14, 14, 12, 10, 9, 8, 6, 4, 2, 1]
HOTLINE_CATEGORIES = {
    "noise": 12,
    "sanitation": 14,
    "traffic": 12,
    "property_management": 16,
    "water_supply": 8,
    "consumer": 10,
    "housing": 8,
    "public_order": 8,
    "other": 12,
}
DESCRIPTORS = {
    "noise": ["施工噪音", "广场舞噪音", "商铺音响", "夜间装修"],
    "sanitation": ["垃圾未清运", "污水外溢"],
    "traffic": ["违停占道", "信号灯故障"],
    "property_management": ["电梯故障", "物业收费争议"],
    "water_supply": ["停水", "水质浑浊"],
    "consumer": ["预付卡退费", "商品质量"],
    "housing": ["房屋漏水", "延期交房"],
    "public_order": ["占道经营", "聚众喧哗"],
    "other": ["咨询", "建议"],
}
PETITION_SUBJECTS = [
    "征地补偿",
    "拆迁安置",
    "拖欠工资",
    "物业纠纷",
    "社保待遇",
    "医疗纠纷",
    "教育入学",
    "环境污染",
]
DISPUTE_TYPES = {
    "neighbour": 20,
    "family": 15,
    "property": 15,
    "labour": 10,
    "wage_arrears": 8,
    "land": 8,
    "demolition": 5,
    "medical": 5,
    "other": 14,
}
INCIDENT_CATEGORIES = ["traffic", "fire", "fight", "gas", "construction", "crowd"]
PLATFORMS = ["weibo", "douyin", "wechat", "toutiao", "local_forum"]
CARE_PROGRAMS = ["独居老人", "留守儿童", "残疾人", "困难群众"]
