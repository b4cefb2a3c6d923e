"""Store adapters: recorders, the hash chain, the codec of stored events, the log follower."""
