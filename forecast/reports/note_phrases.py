"""The notes of the reports in English and Chinese (key -> (en, zh)): what a section says
about its data, its gaps and how to read it. Part of :data:`forecast.reports.phrases.PHRASES`."""

from __future__ import annotations

NOTE_PHRASES: dict[str, tuple[str, str]] = {
    "month_incomplete": (
        ("The data end on {day}, before the month does: the month is incomplete and compares a "
         "part month with full months."),
        "数据截至{day}，本月数据不完整，与整月比较时需注意。",
    ),
    "no_targets_table": ("No targets in the warehouse (load a `targets` source).",
                         "数据仓库中没有目标数据（请加载 targets 数据源）。"),
    "no_month_targets": ("The targets table has no target for this month.", "目标表中没有本月目标。"),
    "no_level_targets": ("No targets at level {level}: ranked by revenue instead.",
                         "没有{level}层级的目标，改按收入排名。"),
    "capped": ("Showing the top and bottom {n} of {total}.", "仅显示前{n}名与后{n}名（共{total}个）。"),
    "capped_series": (
        ("Of the {total} series of level {grain}, the {n} with the largest forecast are shown; "
        "the forecasts table holds them all."),
        "{grain}层级共{total}个序列，仅显示预测最大的{n}个；全部序列见预测表。"),
    "no_levels": ("The orders have no product line, segment, channel or region.",
                  "订单中没有产品线、客户类型、渠道或区域字段。"),
    "no_customer_ids": ("The orders have no customer ids.", "订单中没有客户编号。"),
    "month_no_orders": (
        ("No orders are dated in {month}: its revenue is missing (shown as {missing}), not 0, "
         "and nothing is compared with it."),
        "{month}没有任何订单：该月收入缺失（显示为{missing}），不按0计，也不与其比较。",
    ),
    "month_not_finite": (
        ("The order amounts of {month} do not add up to a number (an amount in the warehouse is "
         "NaN or infinite): its revenue and every total that includes it are missing (shown as "
         "{missing}), not 0. Correct the amounts and ingest again."),
        ("{month}的订单金额无法求和（数据仓库中有金额为NaN或无穷大）：该月收入及包含它的合计"
         "均缺失（显示为{missing}），不按0计。请更正金额后重新导入。"),
    ),
    "ytd_months_without_orders": (
        "No orders are dated in {months}; the year-to-date totals count nothing for them.",
        "{months}没有任何订单，年累计数未计入这些月份。",
    ),
    "concentration_not_finite": (
        ("The 12-month revenue of {n} {n|customer|customers} ({customers}) is not a number (an "
         "order amount in the warehouse is NaN or infinite), so shares and concentration are not "
         "computed. Correct the amounts and ingest again."),
        ("{n}个客户（{customers}）的近12个月收入不是有效数值（数据仓库中有订单金额为NaN或无穷大），"
         "因此不计算占比与集中度。请更正金额后重新导入。"),
    ),
    "attainment_no_orders": (
        ("No orders are dated in {month}, so this month's actuals and attainment are missing, "
         "not 0; the year-to-date columns count the months that have orders."),
        "{month}没有任何订单，本月实际与达成率缺失（不按0计）；年累计列只计有订单的月份。",
    ),
    "no_opportunities": ("No opportunities in the warehouse (load an `opportunities` source).",
                         "数据仓库中没有商机数据（请加载 opportunities 数据源）。"),
    "no_churn_scores": ("No churn scores: run `forecast score churn`.",
                        "没有流失评分：请运行 forecast score churn。"),
    "no_forecast": ("No revenue forecast: run `forecast predict revenue`.",
                    "没有收入预测：请运行 forecast predict revenue。"),
    "no_backtest": ("No revenue backtest: run `forecast train revenue`.",
                    "没有收入模型回测：请运行 forecast train revenue。"),
    "step_not_applicable": (
        "No {what}: the step '{step}' could not run on this data ({reason}).",
        "没有{what}：数据不足以运行“{step}”步骤（{reason}）。",
    ),
    "what_forecast": ("revenue forecast", "收入预测"),
    "what_backtest": ("revenue backtest", "收入模型回测"),
    "what_churn_scores": ("churn scores", "流失评分"),
    "what_targets_plan": ("targets plan", "目标计划"),
    "what_snapshots": ("customer snapshots", "客户快照"),
    "no_outcomes": (
        ("No churn scores whose outcome is known yet (a cutoff plus the horizon must lie within "
         "the data)."),
        "尚无可验证结果的流失评分（基准日加观察期需在数据范围内）。",
    ),
    "no_snapshots": ("No customer snapshots at two or more cutoffs to compare.",
                     "没有至少两个基准日的客户快照可供比较。"),
    "key_rule_tiers": ("Key accounts: value tier 'key account' in customer_tiers.",
                       "大客户：customer_tiers 中价值分层为“大客户”的客户。"),
    "key_rule_segment": (
        ("Key accounts: customers with a key-account segment on an order in the 12 months to the "
         "month's end."),
        "大客户：截至月末12个月内订单客户类型为大客户的客户。",
    ),
    "key_rule_top_share": (
        "Key accounts: the top {pct} of customers by revenue in the 12 months to the month's end.",
        "大客户：截至月末12个月收入排名前{pct}的客户。",
    ),
    "channel_customers_note": ("A customer who bought in two channels counts in both.",
                               "在多个渠道下单的客户在各渠道分别计数。"),
    "funnel_note": (
        ("Activity = opportunities that entered each stage in the month; win rate = won / (won + "
         "lost) among deals closed in the month."),
        ("漏斗活动为本月进入各阶段的商机；赢率 = 赢单 /（赢单 + 输单），按本月关闭"
         "的商机计算。"),
    ),
    "conversion_note": (
        "All opportunities up to {day}; the open pipeline above is weighted by these P(win).",
        "截至{day}的全部商机；上方在途商机按此赢单概率加权。",
    ),
    "lost_rule": ("Lost: the customer's {days} days without an order ran out in the month.",
                  "流失：客户连续{days}天未下单，且该期限在本月届满。"),
    "lost_partial": ("Lost customers are counted up to {day}.", "流失客户统计至{day}。"),
    "scores_as_of": ("Churn scores as of {day}.", "流失评分基准日：{day}。"),
    "no_skill": (
        ("The churn model ranks customers no better than chance on held-out data (ROC-AUC {auc}, "
         "95% interval {low} to {high}): its probabilities stay near the base rate for everyone, "
         "so the tiers, the customers listed and their reasons do not single anyone out; the "
         "revenue at risk holds only as a total."),
        ("流失模型在留出数据上的客户排序不优于随机（ROC-AUC {auc}，95% 区间 {low} 至 {high}）："
         "所有客户的流失概率都接近基准流失率，因此风险分层、所列客户及其原因并不能区分出具体客户；"
         "风险收入仅在总量上成立。"),
    ),
    "target_source_targets": ("{level} targets from the targets table.", "{level}目标来自目标表。"),
    "target_source_implied": (
        ("{level} targets are implied: the company's month target x the {level}'s share of "
         "revenue in the same month last year."),
        "{level}目标为推算值：公司本月目标 × 该{level}去年同月收入占比。",
    ),
    "none_below": ("Every {level} reached its target.", "所有{level}均已达标。"),
    "pvm_note": (
        ("Change vs the same month last year = volume + price + mix + new/dropped items (formula "
         "in Definitions)."),
        "同比变化 = 销量 + 价格 + 结构 + 新增/停售产品（公式见口径说明）。",
    ),
    "probability_note": (
        ("Probability = 1 - Phi((target - forecast) / sd): the actual is taken as Normal "
         "below and above the forecast, sd the deviation of its 80 % interval on the target's "
         "side."),
        ("达标概率 = 1 - Φ((目标 - 预测) / 标准差)，实际值在预测两侧各按正态分布估计，"
         "标准差取 80% 区间在目标一侧的偏差。"),
    ),
    "problems_note": (
        ("Each problem comes from a stated rule over numbers in this report; thresholds are set "
         "under reports.rules in the config."),
        ("每个问题都由明确规则从本报告的数字得出；阈值在配置 reports.rules "
         "中设置。"),
    ),
    "no_problems": ("None of the {n} rules fired.", "{n}条规则均未触发。"),
    "value_source_tiers": ("Value tiers from customer_tiers.", "价值分层来自 customer_tiers。"),
    "value_source_abc": (
        ("Value class = ABC class of the customer's revenue over the last 12 months (A: customers "
         "making the first 80%, B: the next 15%, C: the rest)."),
        ("价值分类 = 近12个月收入的ABC分类（A：贡献前80%收入的客户，B：其后1"
         "5%，C：其余）。"),
    ),
    "concentration_note": (
        "Revenue from {start} to {end}; customers with net negative revenue are left out.",
        "统计期间{start}至{end}；净收入为负的客户不计入。",
    ),
    "drift_note": ("Snapshot features at {scoring} against the training cutoffs {training}.",
                   "{scoring}的客户快照特征与训练基准日{training}对比。"),
    "unseen_note": (
        ("Customers scored on {day} with a category the churn model never saw in training: "
         "{counts}. The model treats such a value as unknown; retrain it when these values "
         "matter."),
        ("{day}评分的客户中，含流失模型训练中未见过类别的客户数：{counts}。模型将这些取值"
         "视为未知类别；如这些取值重要，请重新训练模型。"),
    ),
    "no_unseen": ("Every category scored on {day} was seen when the churn model was trained.",
                  "{day}评分的所有类别在流失模型训练时均已出现。"),
}
