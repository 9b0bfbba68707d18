"""Small helpers every stage may use (layer 0): Arrow access to a dataset's rows."""
