"""The offline short-video platform: catalogue, recommenders, user and creator agents, the loop, long-term metrics."""
