"""The fixed truths of the synthetic company: organisation, catalogue, behaviour and calendar.

Everything the generator draws is shaped by these constants; ``ground_truth/seasonality.json``
repeats the calendar ones so models can be checked against them. Segment-indexed tuples follow
``forecast.schemas.SEGMENTS`` ("key account", "mid-market", "small"); channel-indexed ones follow
``forecast.schemas.CHANNELS`` ("online", "offline", "distributor").
"""

from __future__ import annotations

# Customers are generated in fixed blocks; every random stream is keyed by (seed, block, stream),
# so the output does not depend on how blocks are grouped into chunks for writing.
BLOCK_CUSTOMERS = 2048

# Random stream ids, per block.
STREAM_CUSTOMERS = 1
STREAM_ORDERS = 2
STREAM_SURVEYS = 3
STREAM_OPPORTUNITIES = 4
# World-level streams use this in place of a block index.
WORLD_STREAM = 2**32 - 1
STREAM_ORGANISATION = 1
STREAM_CATALOGUE = 2
STREAM_PROMOTIONS = 3
STREAM_TARGETS = 4

# Organisation.
REGIONS = ("North", "East", "South", "West", "Central", "Northeast")
REGION_WEIGHTS = (0.18, 0.24, 0.20, 0.13, 0.14, 0.11)
TEAMS_PER_REGION = (2, 3)
REPS_PER_TEAM = (4, 8)
INDUSTRIES = (
    "retail", "manufacturing", "healthcare", "education",
    "hospitality", "logistics", "construction", "technology",
)
INDUSTRY_WEIGHTS = (0.20, 0.18, 0.10, 0.08, 0.12, 0.10, 0.10, 0.12)

# Catalogue: product line -> (number of products, lowest and highest list price).
PRODUCT_LINES = {
    "Office Supplies": (18, 4.0, 60.0),
    "Packaging": (12, 2.0, 35.0),
    "Cleaning": (10, 5.0, 80.0),
    "Safety Equipment": (14, 12.0, 250.0),
    "Electronics": (16, 40.0, 1200.0),
    "Furniture": (8, 90.0, 900.0),
}
MARGIN_RANGE = (0.20, 0.60)

# Segments.
SEGMENT_SHARES = (0.05, 0.25, 0.70)
ORDERS_PER_YEAR = (40.0, 15.0, 4.2)  # mean of the lognormal base rate, per segment
ORDERS_PER_YEAR_SIGMA = 0.45
LINES_PER_ORDER = ((0.60, 0.30, 0.10), (0.75, 0.20, 0.05), (0.87, 0.11, 0.02))
QUANTITY_MEDIAN = (12.0, 4.0, 1.5)
QUANTITY_SIGMA = 0.7
PRICE_FACTOR = (0.92, 0.97, 1.0)  # negotiated level against list price
PRICE_NOISE = 0.02
CHANNEL_SHARES = ((0.15, 0.55, 0.30), (0.30, 0.45, 0.25), (0.50, 0.30, 0.20))
PRIMARY_CHANNEL_SHARE = 0.8
LINE_PREFERENCE_CONCENTRATION = 3.0  # Dirichlet total: lower means narrower baskets

# Lifecycle.
ACTIVE_AT_START_SHARE = 0.38
PRE_START_TENURE_DAYS = (30, 6 * 365)
MIN_TENURE_DAYS = 30
CHURN_PER_YEAR = (0.08, 0.15, 0.25)  # probability of churning within a year, per segment
# Hazard x exp(-slope x (baseline satisfaction - centre)), rescaled to keep the segment average.
CHURN_SATISFACTION_SLOPE = 0.35
SATISFACTION_CENTRE = 7.5
SATISFACTION_SPREAD = 1.2
SATISFACTION_RANGE = (2.0, 9.8)
DECLINE_DAYS = (60, 180)
DRIVERS = ("frequency", "satisfaction", "product_mix")
DRIVER_PROBABILITY = 0.55
FREQUENCY_FLOOR = 0.15  # order-rate multiplier reached at the churn date
SATISFACTION_DROP = (2.0, 4.0)
MIX_CONCENTRATION = 0.9  # share of the basket moved to the favourite line by the churn date
DIP_PROBABILITY = 0.25  # temporary dips that do not end in churn
DIP_DAYS = (30, 120)
DIP_DEPTH = (0.3, 0.7)  # order-rate multiplier during a dip
DIP_SATISFACTION_PROBABILITY = 0.4
DIP_SATISFACTION_DROP = (1.0, 2.5)

# Surveys.
SURVEY_EVERY_DAYS = 90
SURVEY_JITTER_DAYS = 10
SURVEY_FIRST_DAYS = (7, 60)  # after signup
SURVEY_NOISE = 0.6

# Returns.
RETURN_RATE = 0.025
RETURN_DAYS = (3, 30)
RETURN_ALL_PROBABILITY = 0.6

# Opportunities.
OPPORTUNITIES_PER_YEAR = (4.0, 1.2, 0.3)
# Days in initial contact, needs analysis, proposal and negotiation.
STAGE_DAYS_MEDIAN = (8.0, 14.0, 18.0, 12.0)
STAGE_DAYS_RANGE = (5, 40)
STAGE_DAYS_SIGMA = 0.45
SEGMENT_CYCLE_FACTOR = (1.5, 1.15, 1.0)
STAGE_ADVANCE = (0.75, 0.70, 0.65, 0.60)  # chance to move on from each open stage (last: win)
DEAL_MONTHS = 3.0  # a deal is worth about this many months of the customer's business
DEAL_SIGMA = 0.5
ESTIMATE_SIGMA = 0.3  # error of the amount estimate at the first stage, shrinking to 0 at close

# Calendar: multiplicative factors on the daily order rate.
GROWTH_PER_YEAR = 1.08
MONTHLY = (0.95, 0.78, 0.97, 1.00, 1.00, 1.04, 0.96, 0.95, 1.03, 1.00, 1.12, 1.20)
WEEKDAY = {  # Monday first
    "online": (1.02, 1.02, 1.02, 1.02, 1.02, 0.95, 0.95),
    "offline": (1.18, 1.18, 1.18, 1.18, 1.18, 0.60, 0.50),
    "distributor": (1.20, 1.20, 1.20, 1.20, 1.20, 0.60, 0.40),
}
SPRING_FESTIVAL_DAYS = 7
SPRING_FESTIVAL_FACTOR = 0.4
STOCK_UP_DAYS = 14
STOCK_UP_FACTOR = 1.25
GOLDEN_WEEK_FACTOR = {"offline": 0.45, "distributor": 0.75}
SHOPPING_DAYS = {"618": ((6, 18), 2.2), "Double 11": ((11, 11), 3.0)}  # online only

# Promotions: per calendar year, one in each quarter, on one or two product lines.
PROMOTIONS_PER_YEAR = 4
PROMOTION_DAYS = (5, 14)
PROMOTION_UPLIFT = (1.3, 1.8)
PROMOTION_DISCOUNT = (0.10, 0.25)

# Targets.
TARGET_GROWTH = 1.08
TARGET_NOISE = 0.04
FIRST_YEAR_TARGET_RANGE = (0.9, 1.15)
TARGET_MONTHS_AHEAD = 3
