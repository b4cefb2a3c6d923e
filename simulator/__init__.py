"""The simulator: the national network, calls, crews and moving vans driving a real server."""
