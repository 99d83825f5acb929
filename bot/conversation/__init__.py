"""The conversation: understanding (reader → frame), slots, the turn planner and its acts."""
