"""The edit, after the frames: the cut (transitions, title, credits, lower thirds), the grade,
subtitles, and the film with its sound. Frames and passes stay exact; the store keys the edit
apart, so a new grade or title re-encodes without re-rendering a frame."""
