"""Interchange: the world and its shots as glTF 2.0, OpenUSD and OpenTimelineIO files."""
