// replaced by the lock implementation
