"""Characters: rigs, gaits, actions and pose passes."""
