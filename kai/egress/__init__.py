"""Outbound HTTP to URLs that users supply (an `llm` agent's baseUrl): which addresses kAI
may call (policy.py) and the one client that enforces it on every connection (client.py).
"""
