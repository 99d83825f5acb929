"""The acts of a turn, one module each, in the order the planner runs them:

commands → safety → referral → human → details → answer → orientation → offer → fallback.
"""
