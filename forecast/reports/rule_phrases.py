"""Wording of the problem rules in English and Chinese: ``rule_<name>`` states the rule,
``finding_<name>`` what was seen and ``action_<name>`` what to do (see
:mod:`forecast.reports.rules` and :mod:`forecast.reports.risk_rules`)."""

from __future__ import annotations

RULE_PHRASES: dict[str, tuple[str, str]] = {
    "rule_mom_decline": ("MoM below -threshold", "环比低于负阈值"),
    "finding_mom_decline": (
        "Revenue fell {mom} vs last month (rule: a fall of more than {threshold}).",
        "收入环比下降{mom}（规则：降幅超过{threshold}）。",
    ),
    "action_mom_decline": ("Review {level} {member} first: it changed {change}, the largest fall.",
                           "优先复盘{level}“{member}”：变化{change}，降幅最大。"),
    "rule_yoy_decline": ("YoY below -threshold", "同比低于负阈值"),
    "finding_yoy_decline": (
        "Revenue fell {yoy} vs the same month last year (rule: a fall of more than {threshold}).",
        "收入同比下降{yoy}（规则：降幅超过{threshold}）。",
    ),
    "action_yoy_decline": (
        "Compare {level} {member} with last year: it changed {change}, the largest fall.",
        ("对比去年复盘{level}“{member}”：同比变化{change}，降幅最"
         "大。"),
    ),
    "rule_ytd_attainment": ("YTD attainment below threshold", "年累计达成率低于阈值"),
    "finding_ytd_attainment": (
        "Year to date is at {attainment} of target (rule: below {threshold}).",
        "年累计达成率为{attainment}（规则：低于{threshold}）。",
    ),
    "action_ytd_attainment": (
        ("Plan to recover {gap} over the remaining {months} month(s): {per_month} a month above "
         "plan."),
        ("在剩余{months}个月内追回{gap}：每月需超出计划{per_month}"
         "。"),
    ),
    "rule_unit_attainment": ("Unit attainment below threshold", "单元达成率低于阈值"),
    "finding_unit_attainment": ("{level}: {n} below {threshold} of target: {units}.",
                                "{level}：{n}个低于目标的{threshold}：{units}。"),
    "action_unit_attainment": (
        ("Review pipeline coverage and next month's commit with each of them, lowest attainment "
         "first."),
        "与上述单元逐一复盘商机覆盖与下月承诺，从达成率最低者开始。",
    ),
    "rule_driver_volume": ("Below target and volume effect the largest fall", "未达标且销量效应降幅最大"),
    "finding_driver_volume": (
        "{unit} ({level}) missed its target by {gap}; the volume effect vs last year is {effect}.",
        "{unit}（{level}）未达目标{gap}；销量效应同比{effect}。",
    ),
    "action_driver_volume": (
        "Win back volume at {unit}: contact the customers listed with the largest falls.",
        "提升{unit}销量：联系下表中下降最多的客户。",
    ),
    "rule_driver_price": ("Below target and price effect the largest fall", "未达标且价格效应降幅最大"),
    "finding_driver_price": (
        "{unit} ({level}) missed its target by {gap}; the price effect vs last year is {effect}.",
        "{unit}（{level}）未达目标{gap}；价格效应同比{effect}。",
    ),
    "action_driver_price": ("Review discounts and price approvals at {unit}.", "检查{unit}的折扣与价格审批。"),
    "rule_driver_mix": ("Below target and mix effect the largest fall", "未达标且结构效应降幅最大"),
    "finding_driver_mix": (
        ("{unit} ({level}) missed its target by {gap}; the mix effect (a shift to cheaper items) "
         "vs last year is {effect}."),
        ("{unit}（{level}）未达目标{gap}；结构效应（向低价产品转移）同比"
         "{effect}。"),
    ),
    "action_driver_mix": ("Push the higher-value items at {unit} (bundles, cross-selling).",
                          "在{unit}推动高价值产品销售（组合、交叉销售）。"),
    "rule_driver_other": ("Below target and new/dropped items the largest fall", "未达标且新增/停售产品影响最大"),
    "finding_driver_other": (
        ("{unit} ({level}) missed its target by {gap}; items sold last year but not this month "
         "(net of new ones) count {effect}."),
        ("{unit}（{level}）未达目标{gap}；去年有售而本月未售的产品（扣除"
         "新品）影响{effect}。"),
    ),
    "action_driver_other": ("Check stock-outs and discontinued items at {unit}.",
                            "检查{unit}的缺货与停售产品。"),
    "rule_win_rate": ("Win rate fell more than threshold points", "赢率下降超过阈值"),
    "finding_win_rate": (
        "Win rate fell to {rate} from {previous} (rule: a fall of more than {threshold}).",
        ("赢率由{previous}降至{rate}（规则：下降超过{threshold}"
         "）。"),
    ),
    "action_win_rate": ("Review the month's lost deals with the reps: price, competitor, timing.",
                        "与销售代表复盘本月输单：价格、竞争对手、时机。"),
    "rule_lost_revenue": ("Lost customers' 12-month revenue / (month revenue x 12) above threshold",
                          "流失客户近12个月收入 /（本月收入×12）高于阈值"),
    "finding_lost_revenue": (
        ("{n} {n|customer was|customers were} lost, who bought {revenue} in their last 12 "
         "months ({share} of annualised revenue; rule: above {threshold})."),
        ("流失客户{n}个，其近12个月收入{revenue}（占年化收入{share}；"
         "规则：高于{threshold}）。"),
    ),
    "action_lost_revenue": ("Call the largest lost customers for a win-back offer: {top}.",
                            "联系主要流失客户进行挽回：{top}。"),
    "rule_at_risk": ("High-risk revenue at risk / (month revenue x 12) above threshold",
                     "高风险收入 /（本月收入×12）高于阈值"),
    "finding_at_risk": (
        ("{n} high-risk {n|customer carries|customers carry} {revenue} of revenue at risk "
         "({share} of annualised revenue; rule: above {threshold})."),
        ("{n}个高风险客户的风险收入为{revenue}（占年化收入{share}；规则"
         "：高于{threshold}）。"),
    ),
    "action_at_risk": (
        ("Assign retention calls to the high-risk customers with the most revenue at risk (list "
         "in Customers at risk)."),
        "为风险收入最高的高风险客户安排挽留拜访（见风险客户列表）。",
    ),
    "rule_net_customers": ("New customers fewer than lost customers", "新增客户少于流失客户"),
    "finding_net_customers": ("{new} new customers against {lost} lost: the customer base shrank.",
                              "新增客户{new}个，流失客户{lost}个：客户基数减少。"),
    "action_net_customers": ("Raise prospecting: more first meetings and trial orders next month.",
                             "加强新客开发：下月增加首访与试单。"),
    "rule_next_month": ("Probability of reaching next month's target below threshold",
                        "下月达标概率低于阈值"),
    "finding_next_month": (
        "Next month's target is reached with probability {probability} (rule: below {threshold}).",
        "下月达标概率为{probability}（规则：低于{threshold}）。",
    ),
    "action_next_month": ("Find {gap} more: pull forward late-stage deals or agree a lower commit.",
                          "需额外{gap}：推进后期商机提前成交，或调整承诺目标。"),
    "rule_top10": ("Top-10 customer share above threshold", "前十大客户占比高于阈值"),
    "finding_top10": (
        "The ten largest customers hold {share} of revenue (rule: above {threshold}).",
        "前十大客户占收入{share}（规则：高于{threshold}）。",
    ),
    "action_top10": ("Protect the top accounts with account plans and grow the next tier.",
                     "为大客户制定客户计划，同时培育次级客户。"),
    "rule_hhi": ("Normalised HHI above threshold", "标准化HHI高于阈值"),
    "finding_hhi": (
        ("Revenue by {level} is concentrated: normalised HHI {normalised} (HHI {hhi}, like "
         "{equivalent} equal members; rule: above {threshold})."),
        ("按{level}收入集中：标准化HHI为{normalised}（HHI {hh"
         "i}，相当于{equivalent}个等额成员；规则：高于{threshold}"
         "）。"),
    ),
    "action_hhi": ("Reduce dependence on the largest {level}: set growth targets for the others.",
                   "降低对最大{level}的依赖：为其他{level}设定增长目标。"),
    "rule_at_risk_12m": ("High-risk revenue at risk / 12-month revenue above threshold",
                         "高风险收入 / 近12个月收入高于阈值"),
    "finding_at_risk_12m": (
        ("{n} high-risk {n|customer carries|customers carry} {revenue} at risk, {share} of the "
         "last 12 months' revenue (rule: above {threshold})."),
        ("{n}个高风险客户的风险收入为{revenue}，占近12个月收入{share}"
         "（规则：高于{threshold}）。"),
    ),
    "action_at_risk_12m": (
        "Run the retention plan on the high-risk customers with the most revenue at risk first.",
        "优先对风险收入最高的高风险客户执行挽留计划。",
    ),
    "rule_downside": ("Probability of reaching the month target below threshold", "月度达标概率低于阈值"),
    "finding_downside": (
        ("{month}: probability {probability} of reaching {target}; P10 is {p10} (rule: below "
         "{threshold})."),
        ("{month}：达成{target}的概率为{probability}，P10为"
         "{p10}（规则：低于{threshold}）。"),
    ),
    "action_downside": ("Build pipeline for {month} now, or agree a lower commit with management.",
                        "立即为{month}补充商机，或与管理层调整承诺。"),
    "rule_backtest_wape": ("Backtest WAPE above threshold", "回测WAPE高于阈值"),
    "finding_backtest_wape": (
        "The revenue model's backtest WAPE is {wape} (rule: above {threshold}).",
        "收入模型回测WAPE为{wape}（规则：高于{threshold}）。",
    ),
    "action_backtest_wape": (
        "Retrain with more history or regressors; plan with the wider intervals meanwhile.",
        "增加历史数据或回归变量重新训练；期间按较宽区间做计划。",
    ),
    "rule_coverage": ("80% interval coverage off 0.8 by more than tolerance", "80%区间覆盖率偏离0.8超过容差"),
    "finding_coverage": (
        ("The 80% intervals covered {coverage} of backtest actuals (rule: off by more than "
         "{tolerance})."),
        ("80%区间覆盖了{coverage}的回测实际值（规则：偏离超过{toleran"
         "ce}）。"),
    ),
    "action_coverage": ("Recalibrate the intervals (conformal) before using probabilities.",
                        "使用概率前先重新校准区间（保形校准）。"),
    "rule_ece": ("Churn ECE above threshold", "流失模型ECE高于阈值"),
    "finding_ece": (
        "Churn scores are off their outcomes by {ece} on average (ECE; rule: above {threshold}).",
        ("流失评分与实际结果的平均偏差为{ece}（ECE；规则：高于{threshold"
         "}）。"),
    ),
    "action_ece": ("Retrain and recalibrate the churn model on recent cutoffs.",
                   "基于近期基准日重新训练并校准流失模型。"),
    "rule_drift": ("A feature's PSI above threshold", "特征PSI高于阈值"),
    "finding_drift": (
        ("{n} input {n|feature|features} drifted from the training data (largest PSI {psi}; "
         "rule: above {threshold})."),
        ("{n}个输入特征相对训练数据发生漂移（最大PSI {psi}；规则：高于{thr"
         "eshold}）。"),
    ),
    "action_drift": (
        ("Retrain the churn model on recent snapshots and check the drifting inputs for data "
         "problems."),
        "基于近期快照重新训练流失模型，并检查漂移特征的数据问题。",
    ),
}
