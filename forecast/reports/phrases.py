"""Every phrase of the reports in English and Chinese: key -> (en, zh).

Templates use ``str.format`` fields; numbers arrive already formatted by the locale. Keys that
start with ``v:`` translate canonical data values (channels, segments, stages, tiers).
"""

from __future__ import annotations

from forecast.reports.rule_phrases import RULE_PHRASES

_TITLES = {
    "monthly_title": ("{company}Monthly sales report, {month}", "{company}{month}销售月报"),
    "risk_title": ("{company}Risk report", "{company}风险报告"),
    "data_through": ("Data through {day}", "数据截至{day}"),
    "s_summary": ("Summary", "摘要"),
    "s_revenue": ("Revenue", "收入"),
    "s_contribution": ("Contribution by product line, segment, channel and region",
                       "按产品线、客户类型、渠道和区域的贡献分析"),
    "s_customers_mix": ("Customer distribution", "客户分布"),
    "s_attainment": ("Target attainment", "目标达成"),
    "s_funnel": ("Funnel activity", "销售漏斗"),
    "s_customers": ("New, lost and at-risk customers", "新增、流失与风险客户"),
    "s_below_target": ("Below target: what drove the gap", "未达标单元及原因"),
    "s_next_month": ("Next month", "下月展望"),
    "s_problems": ("Problems and suggested actions", "问题与建议措施"),
    "s_definitions": ("Definitions", "口径说明"),
    "s_at_risk": ("Customers at risk", "风险客户"),
    "s_concentration": ("Concentration risk", "集中度风险"),
    "s_downside": ("Forecast downside and odds of hitting target", "预测下行风险与达标概率"),
    "s_model_health": ("Model health", "模型健康度"),
}

_METRICS = {
    "m_revenue": ("Revenue", "本月收入"),
    "m_previous": ("Last month", "上月收入"),
    "m_mom": ("Change vs last month (MoM)", "环比"),
    "m_year_ago": ("Same month last year", "去年同月收入"),
    "m_yoy": ("Change vs last year (YoY)", "同比"),
    "m_orders": ("Orders", "订单数"),
    "m_customers": ("Buying customers", "下单客户数"),
    "m_average_order": ("Average order value", "平均订单金额"),
    "m_month_target": ("Month target", "本月目标"),
    "m_month_attainment": ("Month attainment", "本月达成率"),
    "m_ytd_revenue": ("Revenue year to date", "年初至今收入"),
    "m_ytd_prior": ("Same period last year", "去年同期收入"),
    "m_ytd_yoy": ("Year to date vs last year", "年累计同比"),
    "m_ytd_target": ("Target year to date", "年初至今目标"),
    "m_ytd_attainment": ("Attainment year to date", "年累计达成率"),
    "m_ytd_gap": ("Gap to target year to date", "年累计差额"),
    "m_units_below": ("{level}: units below {pct} of target", "{level}：达成率低于{pct}的数量"),
    "m_created": ("Opportunities created", "新建商机"),
    "m_won": ("Deals won", "赢单数"),
    "m_won_amount": ("Amount won", "赢单金额"),
    "m_lost": ("Deals lost", "输单数"),
    "m_win_rate": ("Win rate", "赢率"),
    "m_win_rate_previous": ("Win rate last month", "上月赢率"),
    "m_win_rate_change": ("Win rate change", "赢率变化"),
    "m_open_opportunities": ("Open opportunities at month end", "月末在途商机"),
    "m_open_amount": ("Open pipeline amount", "在途商机金额"),
    "m_weighted_open_amount": ("Open pipeline weighted by P(win)", "按赢单概率加权的在途金额"),
    "m_new_customers": ("New customers", "新增客户"),
    "m_new_revenue": ("Revenue from new customers", "新增客户收入"),
    "m_lost_customers": ("Lost customers", "流失客户"),
    "m_lost_revenue": ("Their revenue in the last 12 months", "流失客户近12个月收入"),
    "m_high_risk_customers": ("High-risk customers", "高风险客户"),
    "m_high_revenue_at_risk": ("Revenue at risk (high)", "高风险客户风险收入"),
    "m_medium_risk_customers": ("Medium-risk customers", "中风险客户"),
    "m_medium_revenue_at_risk": ("Revenue at risk (medium)", "中风险客户风险收入"),
    "m_scoring_cutoff": ("Scored as of", "评分基准日"),
    "m_revenue_12m": ("Revenue, last 12 months", "近12个月收入"),
    "m_high_at_risk_share": ("High-risk revenue at risk / 12-month revenue", "高风险收入占近12个月收入"),
    "m_customers_12m": ("Customers with revenue (12 months)", "近12个月有收入客户"),
    "m_top10_share": ("Top-10 customers' share", "前十大客户占比"),
    "m_hhi": ("HHI by {level}", "{level}HHI指数"),
    "m_hhi_normalised": ("Normalised HHI by {level}", "{level}标准化HHI"),
    "m_backtest_wape": ("Backtest WAPE (company total, model in use)", "回测WAPE（公司总计，在用模型）"),
    "m_backtest_coverage_80": ("Coverage of the 80% interval", "80%区间覆盖率"),
    "m_churn_ece": ("Churn calibration error (ECE)", "流失模型校准误差（ECE）"),
    "m_max_psi": ("Largest PSI", "最大PSI"),
    "m_features_drifting": ("Features drifting", "漂移特征数"),
    "m_features_checked": ("Features checked", "检查特征数"),
    "m_unseen_features": ("Features with unseen categories", "含未见类别的特征数"),
}

_WORDS = {
    "revenue": ("Revenue", "收入"),
    "target": ("Target", "目标"),
    "actual": ("Actual", "实际"),
    "share": ("Share", "占比"),
    "last_month": ("Last month", "上月"),
    "this_month": ("This month", "本月"),
    "change": ("Change", "变化"),
    "change_pct": ("Change %", "变化率"),
    "share_of_change": ("Share of change", "变化贡献占比"),
    "year_ago": ("Same month last year", "去年同月"),
    "yoy": ("YoY", "同比"),
    "others": ("Others", "其他"),
    "rank": ("Rank", "排名"),
    "attainment": ("Attainment", "达成率"),
    "gap": ("Gap", "差额"),
    "target_ytd": ("Target YTD", "年累计目标"),
    "actual_ytd": ("Actual YTD", "年累计实际"),
    "attainment_ytd": ("Attainment YTD", "年累计达成率"),
    "stage": ("Stage", "阶段"),
    "reached": ("Reached", "到达数"),
    "conversion": ("Conversion to next stage", "下一阶段转化率"),
    "median_days": ("Median days in stage", "阶段停留天数中位数"),
    "p_win": ("P(win)", "赢单概率"),
    "entered": ("Entered", "进入数"),
    "amount": ("Amount", "金额"),
    "entered_previous": ("Entered last month", "上月进入数"),
    "customer": ("Customer", "客户"),
    "customers": ("Customers", "客户数"),
    "name": ("Name", "名称"),
    "first_order": ("First order", "首单日期"),
    "last_order": ("Last order", "末单日期"),
    "revenue_12m": ("Revenue, 12 months", "近12个月收入"),
    "reason": ("Reason", "原因"),
    "reason_n": ("Reason {n}", "原因{n}"),
    "share_of_customers": ("Share of customers", "客户占比"),
    "risk_tier": ("Risk tier", "风险等级"),
    "revenue_at_risk": ("Revenue at risk", "风险收入"),
    "churn_proba": ("Churn probability", "流失概率"),
    "churn_proba_mean": ("Mean churn probability", "平均流失概率"),
    "series": ("Series", "序列"),
    "forecast": ("Forecast", "预测"),
    "lo_80": ("80% low", "80%下限"),
    "hi_80": ("80% high", "80%上限"),
    "lo_95": ("95% low", "95%下限"),
    "hi_95": ("95% high", "95%上限"),
    "p10": ("P10", "P10"),
    "forecast_gap": ("Forecast - target", "预测减目标"),
    "probability": ("Probability of reaching target", "达标概率"),
    "buying_customers": ("Buying customers", "下单客户数"),
    "buying_customers_previous": ("Last month", "上月下单客户数"),
    "revenue_per_customer": ("Revenue per customer", "客均收入"),
    "main_driver": ("Main driver", "主要原因"),
    "change_vs_year_ago": ("Change vs last year", "同比变化"),
    "finding": ("Finding", "发现"),
    "action": ("Suggested action", "建议措施"),
    "rule": ("Rule", "规则"),
    "term": ("Term", "术语"),
    "definition": ("Definition", "定义"),
    "value_tier": ("Value tier", "价值分层"),
    "cumulative_share": ("Cumulative share", "累计占比"),
    "level": ("Level", "维度"),
    "hhi_normalised": ("Normalised HHI", "标准化HHI"),
    "unit": ("Unit", "单元"),
    "plan_base": ("Base (forecast)", "基准（预测）"),
    "plan_stretch": ("Stretch", "挑战值"),
    "members": ("Members", "成员数"),
    "hhi": ("HHI", "HHI"),
    "equivalent_members": ("Equivalent equal members (1/HHI)", "等效成员数（1/HHI）"),
    "largest_member": ("Largest", "最大成员"),
    "largest_share": ("Its share", "最大成员占比"),
    "period_type": ("Period", "周期类型"),
    "period": ("Period start", "期间"),
    "backtest": ("Revenue model backtest", "收入模型回测"),
    "calibration": ("Churn scores against outcomes", "流失评分与实际结果"),
    "cutoff": ("Cutoff", "基准日"),
    "predicted_rate": ("Predicted churn", "预测流失率"),
    "observed_rate": ("Observed churn", "实际流失率"),
    "brier": ("Brier score", "Brier分数"),
    "ece": ("ECE", "ECE"),
    "drift": ("Input drift (PSI)", "输入漂移（PSI）"),
    "feature": ("Feature", "特征"),
    "psi": ("PSI", "PSI"),
    "reference_mean": ("Training mean", "训练期均值"),
    "current_mean": ("Current mean", "当前均值"),
    "unseen_categories": ("Categories the churn model never saw in training",
                          "流失模型训练中未见过的类别"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "full_stop": (".", "。"),
    "sentence_join": ("; ", "；"),
    "list_sep": (", ", "、"),
    "forecast_fan": ("Forecast (80% and 95% intervals)", "预测（80%与95%区间）"),
    "level_product_line": ("Product line", "产品线"),
    "level_segment": ("Segment", "客户类型"),
    "level_channel": ("Channel", "渠道"),
    "level_region": ("Region", "区域"),
    "level_team": ("Team", "团队"),
    "level_rep_id": ("Rep", "销售代表"),
    "level_customer": ("Customer", "客户"),
    "level_store": ("Store", "门店"),
    "grouping_accounts": ("Key accounts vs others", "大客户与其他客户"),
    "grouping_channel": ("Channel", "渠道"),
    "effect_volume": ("Volume", "销量"),
    "effect_price": ("Price", "价格"),
    "effect_mix": ("Mix", "结构"),
    "effect_other": ("New/dropped items", "新增/停售产品"),
}

_TABLES = {
    "chart_trend": ("Monthly revenue, target and forecast", "月度收入、目标与预测"),
    "chart_waterfall": ("Change vs last month by {level}", "按{level}的环比变化"),
    "chart_attainment": ("Attainment by {level}", "各{level}达成率"),
    "chart_funnel": ("Stages entered this month", "本月各阶段商机数"),
    "chart_heatmap": ("Value x risk: revenue at risk (customers)", "价值×风险：风险收入（客户数）"),
    "chart_odds": ("Probability of reaching the monthly target", "各月达标概率"),
    "funnel_stages": ("Stages entered", "各阶段进入情况"),
    "funnel_conversion": ("Stage conversion and P(win) (forecast funnel)",
                          "阶段转化率与赢单概率（forecast funnel）"),
    "new_customers": ("Largest new customers", "主要新增客户"),
    "lost_customers": ("Largest lost customers", "主要流失客户"),
    "lost_reasons": ("Main churn reasons of the lost customers", "流失客户的主要流失原因"),
    "risk_tiers": ("Customers by risk tier", "按风险等级的客户"),
    "at_risk_customers": ("Customers with the most revenue at risk", "风险收入最高的客户"),
    "at_risk_reasons": ("Main reasons among high- and medium-risk customers", "高、中风险客户的主要原因"),
    "revenue_ranking": ("{level} ranking by revenue", "{level}收入排名"),
    "declining_customers": ("{level}: customers who fell most vs last year", "{level}：同比下降最多的客户"),
    "below_target_units": ("{level} below target", "未达标{level}"),
    "plan_table": ("Targets plan (forecast targets)", "目标计划（forecast targets）"),
    "next_month_table": ("Forecast for {month}", "{month}预测"),
    "downside_table": ("Forecast, P10 and probability of reaching the target", "预测、P10与达标概率"),
    "value_risk": ("Value x risk", "价值×风险矩阵"),
    "top_customers": ("Largest customers, last 12 months", "近12个月最大客户"),
    "concentration_levels": ("Concentration by level", "各维度集中度"),
}

_NOTES = {
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
        ("The 12-month revenue of {n} customer(s) ({customers}) is not a number (an order "
         "amount in the warehouse is NaN or infinite), so shares and concentration are not "
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
        ("Probability = 1 - Phi((target - forecast) / sd): the actual is taken as "
         "Normal(forecast, sd)."),
        ("达标概率 = 1 - Φ((目标 - 预测) / 标准差)，实际值按正态分布 N"
         "(预测, 标准差) 估计。"),
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

_SENTENCES = {
    "contribution_up": ("By {level}, {member} added most ({change}, {share} of the change)",
                        "按{level}，{member}贡献最大（{change}，占变化的{share}）"),
    "contribution_down": ("{member} fell most ({change}, {share} of the change)",
                          "{member}下降最多（{change}，占变化的{share}）"),
    "summary_revenue": (
        ("Revenue in {month} was {revenue}: {mom} vs last month and {yoy} vs the same month last "
         "year."),
        "{month}收入{revenue}，环比{mom}，同比{yoy}。",
    ),
    "summary_revenue_missing": (
        "Revenue in {month} is missing; the note under Revenue says why.",
        "{month}收入缺失，原因见收入部分的说明。",
    ),
    "summary_ytd": ("Year to date, revenue is {ytd}, {attainment} of the target of {target}.",
                    "年初至今收入{ytd}，完成目标{target}的{attainment}。"),
    "summary_customers": (
        ("{new} new customers brought {new_revenue}; {lost} customers were lost, who bought "
         "{lost_revenue} in their last 12 months."),
        ("新增客户{new}个，带来收入{new_revenue}；流失客户{lost}个"
         "，其近12个月收入为{lost_revenue}。"),
    ),
    "summary_risk": (
        "{n} customers are at high risk of churning, with {revenue} of revenue at risk.",
        "高流失风险客户{n}个，风险收入{revenue}。",
    ),
    "summary_next": ("Next month's forecast is {forecast} (80% interval {lo} to {hi}).",
                     "下月预测收入{forecast}（80%区间{lo}至{hi}）。"),
    "summary_next_target": (
        ("Next month's forecast is {forecast} (80% interval {lo} to {hi}); the probability of "
         "reaching the target of {target} is {probability}."),
        ("下月预测收入{forecast}（80%区间{lo}至{hi}），达成目标{ta"
         "rget}的概率为{probability}。"),
    ),
    "summary_problems": ("{n} problem(s) found by the rules; see Problems and suggested actions.",
                         "规则发现{n}个问题，详见“问题与建议措施”。"),
    "summary_omitted": ("Left out for lack of data: {sections}.", "因数据不足未包含：{sections}。"),
    "summary_concentration": (
        "The ten largest customers hold {share} of the last 12 months' revenue (HHI {hhi}).",
        "前十大客户占近12个月收入的{share}（HHI {hhi}）。",
    ),
    "summary_downside": (
        ("For {month}, P10 is {p10} against a target of {target}; the probability of reaching it "
         "is {probability}."),
        ("{month}的P10为{p10}，目标为{target}，达标概率为{prob"
         "ability}。"),
    ),
}

PHRASES: dict[str, tuple[str, str]] = {
    **_TITLES, **_METRICS, **_WORDS, **_TABLES, **_NOTES, **_SENTENCES, **RULE_PHRASES,
}
