"""Group-buy pages: the invite page /g/<code>, starting and joining."""
