"""The write side and its queries: commands over the domain, run on the store."""
