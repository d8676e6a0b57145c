"""Definitions, data values and churn-reason wording of the reports in English and Chinese.

The definitions state the rules the code applies (the same formulas as in
:mod:`forecast.reports.analysis` and :mod:`forecast.io.report_queries`).
"""

from __future__ import annotations

import re

DEFINITIONS = {
    "term_revenue": ("Revenue", "收入"),
    "def_revenue": (
        ("Sum of order-line amounts by order date; returns and cancellations (negative amounts) "
         "net off."),
        "按下单日期汇总的订单行金额；退货与取消（负金额）相抵。",
    ),
    "term_mom_yoy": ("MoM, YoY", "环比、同比"),
    "def_mom_yoy": (
        ("MoM = month / previous month - 1; YoY = month / same month last year - 1; undefined "
         "when the base is 0 or missing."),
        ("环比 = 本月 / 上月 - 1；同比 = 本月 / 去年同月 - 1；基数为0"
         "或缺失时不计算。"),
    ),
    "term_ytd": ("Year to date", "年初至今"),
    "def_ytd": (
        ("1 January to the end of the report month; the target year to date is the sum of the "
         "monthly targets of those months."),
        "1月1日至报告月末；年累计目标为这些月份目标之和。",
    ),
    "term_share_of_change": ("Share of change", "变化贡献占比"),
    "def_share_of_change": (
        ("A member's change vs last month / the total change; the shares sum to 100% (a member "
         "can exceed 100% when others fell)."),
        ("成员环比变化 / 总变化；各成员之和为100%（其他成员下降时单个成员可超过10"
         "0%）。"),
    ),
    "term_key_accounts": ("Key accounts", "大客户"),
    "def_key_accounts": (
        ("customer_tiers' value tier when present; else an order segment listed in "
         "reports.key_account_segments within the 12 months to the month's end; else the top "
         "{top_share} of customers by revenue in those 12 months. The rule used is stated in "
         "Customer distribution."),
        ("有 customer_tiers 时按其价值分层；否则按截至月末12个月内订单的"
         "客户类型（reports.key_account_segments）；否则取这1"
         "2个月收入前{top_share}的客户。所用规则见“客户分布”。"),
    ),
    "term_new_customer": ("New customer", "新增客户"),
    "def_new_customer": ("A customer whose first order ever falls in the month.", "首次下单发生在本月的客户。"),
    "term_lost_customer": ("Lost customer", "流失客户"),
    "def_lost_customer": (
        ("A customer whose last order L satisfies month start <= L + {days} days <= month end "
         "(their {days} days without an order ran out in the month); revenue lost = their revenue "
         "in the 365 days up to L."),
        ("末次下单日L满足：月初 <= L + {days}天 <= 月末（连续{days"
         "}天未下单的期限在本月届满）；流失收入 = L之前365天内的收入。"),
    ),
    "term_at_risk": ("At risk", "风险客户"),
    "def_at_risk": (
        ("Tier of the latest churn scores (high, medium, low by churn probability; see "
         "churn.tier_high and churn.tier_medium); revenue at risk as scored."),
        ("最新流失评分的风险等级（按流失概率分为高、中、低；见 churn.tier_hi"
         "gh 与 churn.tier_medium）；风险收入取评分结果。"),
    ),
    "term_attainment": ("Attainment", "达成率"),
    "def_attainment": (
        ("Revenue / target of the unit (region, team or rep) in the period; rank 1 is the highest "
         "attainment."),
        "单元（区域、团队或销售代表）期间收入 / 目标；排名1为达成率最高。",
    ),
    "term_funnel": ("Funnel activity", "漏斗活动"),
    "def_funnel": (
        ("Opportunities that entered each stage in the month; win rate = won / (won + lost) "
         "entered in the month; open = latest stage before the month's end is neither won nor "
         "lost."),
        ("本月进入各阶段的商机；赢率 = 本月赢单 /（赢单 + 输单）；在途 = 月末前"
         "最新阶段既非赢单也非输单。"),
    ),
    "term_below_target": ("Below target", "未达标"),
    "def_below_target": (
        ("Revenue of the month < target. Regions use the targets table; product lines, which have "
         "no targets of their own, an implied target: the company's month target x the line's "
         "share of revenue in the same month last year."),
        ("本月收入 < 目标。区域使用目标表；产品线没有单独目标，使用推算目标：公司本月目"
         "标 × 该产品线去年同月收入占比。"),
    ),
    "term_pvm": ("Volume, price, mix", "销量、价格、结构"),
    "def_pvm": (
        ("Change vs the same month last year (0) of a unit over the items sold in both periods "
         "(c), with P0_i = R0_i / Q0_i and P0 = R0c / Q0c: volume = (Q1c - Q0c) x P0; mix = sum "
         "Q1_i x P0_i - Q1c x P0; price = sum Q1_i x (P1_i - P0_i); other = revenue of items sold "
         "in only one period. They add up to the change. Items are product lines within a region "
         "and products within a product line."),
        ("相对去年同月(0)的变化，按两期都有销售的产品(c)计算，P0_i = R0_i"
         " / Q0_i，P0 = R0c / Q0c：销量 = (Q1c - Q0c) "
         "× P0；结构 = Σ Q1_i × P0_i - Q1c × P0；价格 = "
         "Σ Q1_i × (P1_i - P0_i)；其他 = 仅在一期销售的产品收入。"
         "四项之和等于变化。区域内按产品线，产品线内按产品。"),
    ),
    "term_forecast_probability": ("Probability of reaching a target", "达标概率"),
    "def_forecast_probability": (
        ("1 - Phi((target - forecast) / sd), the period's actual taken as Normal below and "
         "above the reconciled forecast, sd the deviation its 80 % interval shows on the "
         "target's side (the interval's lower bound is P10)."),
        ("1 - Φ((目标 - 预测) / 标准差)，期间实际值在协调后预测的两侧各按正态分布估计，"
         "标准差取 80% 区间在目标一侧的偏差（区间下限即 P10）。"),
    ),
    "term_problems": ("Problems", "问题"),
    "def_problems": (
        ("Rules over this report's numbers with thresholds from reports.rules; each problem names "
         "its rule."),
        "基于本报告数字的规则，阈值见 reports.rules；每个问题注明所用规则。",
    ),
    "term_value_class": ("Value tier", "价值分层"),
    "def_value_class": (
        ("customer_tiers' value tier when present; else the ABC class of revenue over the last 12 "
         "months (A: first 80%, B: next 15%, C: the rest)."),
        ("有 customer_tiers 时按其价值分层；否则按近12个月收入的ABC分"
         "类（A：前80%，B：其后15%，C：其余）。"),
    ),
    "term_top10": ("Top-10 share", "前十大客户占比"),
    "def_top10": (
        ("Revenue of the 10 largest customers / revenue of all customers with positive revenue, "
         "over the last 12 months."),
        "近12个月前十大客户收入 / 所有正收入客户的收入。",
    ),
    "term_hhi": ("HHI", "HHI指数"),
    "def_hhi": (
        ("Herfindahl-Hirschman index = sum of squared revenue shares (0-1): 1/n for n equal "
         "members, 1 for one. Normalised HHI = (HHI - 1/n) / (1 - 1/n): 0 for equal members, 1 "
         "for one; the rule uses it so that levels with few members compare."),
        ("赫芬达尔指数 = 各成员收入占比的平方和（0-1）：n个等额成员为1/n，单一成"
         "员为1。标准化HHI = (HHI - 1/n) / (1 - 1/n)：等额为"
         "0，单一成员为1；规则使用标准化值，使成员数不同的维度可比。"),
    ),
    "term_p10": ("P10", "P10"),
    "def_p10": (
        ("The 10th percentile of the period's forecast: forecast - 1.2816 x sd; a 1-in-10 bad "
         "outcome."),
        ("预测的第10百分位数：预测 - 1.2816 × 标准差；即十分之一概率的较差结"
         "果。"),
    ),
    "term_wape": ("WAPE", "WAPE"),
    "def_wape": ("Sum |actual - forecast| / sum |actual| over the backtest's origins and horizons.",
                 "回测各起点与预测步长的 Σ|实际 - 预测| / Σ|实际|。"),
    "term_calibration": ("Calibration", "校准"),
    "def_calibration": (
        ("Churn scores whose window (cutoff + horizon) has closed, against whether the customer "
         "ordered in the window; ECE = weighted mean |observed - predicted| over 10 probability "
         "bins."),
        ("观察期（基准日 + 观察期长度）已结束的流失评分与客户是否在期内下单的对比；EC"
         "E = 10个概率区间内|实际 - 预测|的加权平均。"),
    ),
    "term_psi": ("PSI", "PSI"),
    "def_psi": (
        ("Population stability index of a feature at the scoring cutoff vs the training cutoffs: "
         "sum (c - r) ln(c / r) over the training deciles; above 0.2 is a large shift."),
        ("评分基准日特征相对训练基准日的群体稳定性指数：按训练期十分位分箱的 Σ (c -"
         " r) ln(c / r)；高于0.2为显著漂移。"),
    ),
}

VALUES = {
    "v:key account": ("key account", "大客户"),
    "v:other": ("other", "其他客户"),
    "v:mid-market": ("mid-market", "中型客户"),
    "v:small": ("small", "小客户"),
    "v:online": ("online", "线上"),
    "v:offline": ("offline", "线下"),
    "v:distributor": ("distributor", "经销商"),
    "v:(none)": ("(none)", "（空）"),
    "v:initial contact": ("initial contact", "初步接触"),
    "v:needs analysis": ("needs analysis", "需求分析"),
    "v:proposal": ("proposal", "方案报价"),
    "v:negotiation": ("negotiation", "商务谈判"),
    "v:won": ("won", "赢单"),
    "v:lost": ("lost", "输单"),
    "v:high": ("high", "高"),
    "v:medium": ("medium", "中"),
    "v:low": ("low", "低"),
    "v:unknown": ("unknown", "未知"),
    "v:regular": ("regular", "普通客户"),
    "v:potential": ("potential", "潜力客户"),
    "v:month": ("month", "月"),
    "v:quarter": ("quarter", "季度"),
    "v:total": ("total", "合计"),
    "v:company": ("company", "公司"),
    "v:region": ("region", "区域"),
    "v:team": ("team", "团队"),
    "v:rep": ("rep", "销售代表"),
    # Revenue models of the backtest (forecast.factory's candidate names).
    "v:selected_reconciled": ("chosen combination, reconciled (in use)", "选定组合（协调后，在用）"),
    "v:selected": ("chosen combination", "选定组合"),
    "v:naive": ("naive (last value)", "朴素法（上期值）"),
    "v:seasonal_naive": ("seasonal naive (same period last year)", "季节朴素法（去年同期）"),
    "v:seasonal_growth": ("seasonal naive with growth", "带增长的季节朴素法"),
    "v:moving_average": ("moving average", "移动平均"),
    "v:prophet": ("Prophet", "Prophet模型"),
    "v:global_hgb": ("gradient boosting across series", "跨序列梯度提升"),
    "v:croston_sba": ("Croston (SBA)", "Croston法（SBA）"),
    "v:tsb": ("TSB", "TSB法"),
    "v:adida": ("ADIDA", "ADIDA法"),
    "v:imapa": ("IMAPA", "IMAPA法"),
    # Industries of the customers table (the demo company's and other common ones).
    "v:hospitality": ("hospitality", "酒店业"),
    "v:healthcare": ("healthcare", "医疗"),
    "v:logistics": ("logistics", "物流"),
    "v:technology": ("technology", "科技"),
    "v:manufacturing": ("manufacturing", "制造业"),
    "v:retail": ("retail", "零售业"),
    "v:construction": ("construction", "建筑业"),
    "v:education": ("education", "教育"),
    "v:finance": ("finance", "金融"),
    "v:government": ("government", "政府"),
    "v:wholesale": ("wholesale", "批发"),
    "v:energy": ("energy", "能源"),
    "v:agriculture": ("agriculture", "农业"),
}

# Words of snapshot feature names (forecast.features.customers), for Chinese churn reasons.
FEATURE_WORDS_ZH = {
    "days since survey": "距上次调查天数", "recency days": "距末次下单天数",
    "frequency orders": "下单次数", "purchase days": "下单天数", "monetary sum": "累计金额",
    "monetary mean": "平均订单金额", "tenure days": "客户年限（天）", "interval mean days": "平均下单间隔（天）",
    "interval std days": "下单间隔标准差（天）", "interval last days": "最近下单间隔（天）",
    "recency to interval": "未下单天数/平均间隔", "return line share": "退货行占比",
    "return revenue share": "退货金额占比", "gross margin share": "毛利率",
    "satisfaction latest": "最新满意度", "satisfaction change": "满意度变化",
    "open opportunities": "在途商机数", "open opportunity amount": "在途商机金额",
    "industry": "行业", "segment": "客户类型", "region": "区域",
    "product lines total": "累计购买产品线数", "lt recency": "生命周期末次间隔",
    "lt frequency": "生命周期复购次数", "lt T": "生命周期时长", "lt monetary value": "生命周期平均金额",
}
_WINDOWED_ZH = {"orders": "订单数", "revenue": "收入", "orders trend": "订单趋势",
                "revenue trend": "收入趋势", "product lines": "产品线数",
                "product lines prev": "前期产品线数", "product lines change": "产品线数变化"}
_CHANNEL_SHARE = re.compile(r"^channel share (\w+)$")
_WINDOWED = re.compile(r"^(.+?) (\d+)d$")

def _value_zh(value: str) -> str:
    return VALUES.get(f"v:{value}", (value, value))[1]


_REASONS_ZH = (
    (re.compile(r"^no order for (\S+) days, (\S+)x the usual interval$"),
     "已{0}天未下单，为通常间隔的{1}倍"),
    (re.compile(r"^no order for (\S+) days, typical (\S+)$"), "已{0}天未下单，通常为{1}天"),
    (re.compile(r"^satisfaction fell from (\S+) to (\S+)$"), "满意度由{0}降至{1}"),
    (re.compile(r"^satisfaction score (\S+), below the typical (\S+)$"),
     "满意度{0}，低于通常的{1}"),
    (re.compile(r"^no satisfaction survey answered for (\S+) days, typical (\S+)$"),
     "已{0}天未回复满意度调查，通常为{1}天"),
    (re.compile(r"^bought (\S+) product line\(s\) in the last (\S+) days vs (\S+) before$"),
     "近{1}天购买{0}条产品线，此前为{2}条"),
    (re.compile(r"^orders in the last (\S+) days fell (\S+)% vs the \S+ days before$"),
     "近{0}天订单数较前{0}天下降{1}%"),
    (re.compile(r"^revenue in the last (\S+) days fell (\S+)% vs the \S+ days before$"),
     "近{0}天收入较前{0}天下降{1}%"),
    (re.compile(r"^orders every (\S+) days on average, typical (\S+)$"),
     "平均每{0}天下单一次，通常为{1}天"),
    (re.compile(r"^has bought on only one day so far$"), "至今仅在一天下过单"),
    (re.compile(r"^a customer for only (\S+) days, typical (\S+)$"),
     "成为客户仅{0}天，通常为{1}天"),
    (re.compile(r"^average order (\S+), typical (\S+)$"), "平均订单金额{0}，通常为{1}"),
    (re.compile(r"^returned (\S+)% of purchase value, typical (\S+)%$"),
     "退货金额占购买额{0}%，通常为{1}%"),
    (re.compile(r"^gross margin (\S+)%, typical (\S+)%$"), "毛利率{0}%，通常为{1}%"),
    (re.compile(r"^buys mostly (.+) \((\S+)% of revenue\)$"),
     lambda channel, share: f"主要通过{_value_zh(channel)}渠道购买（占收入{share}%）"),
    (re.compile(r"^no open sales opportunities, typical (\S+)$"), "无在途商机，通常为{0}个"),
    (re.compile(r"^(\S+) open sales opportunities, typical (\S+)$"), "在途商机{0}个，通常为{1}个"),
    (re.compile(r"^in the (.+) segment, riskier than (.+)$"),
     lambda value, than: f"客户类型为{_value_zh(value)}，风险高于{_value_zh(than)}"),
    (re.compile(r"^in region (.+), riskier than (.+)$"),
     lambda value, than: f"区域为{_value_zh(value)}，风险高于{_value_zh(than)}"),
    (re.compile(r"^in the (.+) industry, riskier than (.+)$"),
     lambda value, than: f"行业为{_value_zh(value)}，风险高于{_value_zh(than)}"),
)
_GENERIC = re.compile(r"^(.+?) is (.+?)(?:, typical (.+))?$")


def feature_zh(words: str) -> str:
    """A snapshot feature's words in Chinese (``revenue 90d`` -> ``近90天收入``)."""
    if words in FEATURE_WORDS_ZH:
        return FEATURE_WORDS_ZH[words]
    share = _CHANNEL_SHARE.match(words)
    if share:
        return f"{VALUES.get('v:' + share.group(1), (share.group(1),) * 2)[1]}渠道占比"
    windowed = _WINDOWED.match(words)
    if windowed and windowed.group(1) in _WINDOWED_ZH:
        return f"近{windowed.group(2)}天{_WINDOWED_ZH[windowed.group(1)]}"
    return words


def reason_zh(reason: str) -> str:
    """A churn reason (forecast.models.reasons wording) in Chinese; unknown wording unchanged."""
    for pattern, template in _REASONS_ZH:
        match = pattern.match(reason)
        if match:
            if callable(template):
                return template(*match.groups())
            return template.format(*match.groups())
    match = _GENERIC.match(reason)
    if match:
        feature, value, typical = match.groups()
        text = f"{feature_zh(feature)}为{_value_zh(value)}"
        return text + (f"，通常为{typical}" if typical else "")
    return reason
