"""The film's sound: voices for the dialogue, a composed score, ambience beds, and the mix
normalised to a loudness target. Everything is a pure function of the spec and seed, so the
same spec gives the same samples; ffmpeg (the imageio-ffmpeg binary) decodes, measures and
normalises."""

SAMPLE_RATE = 48_000  # every stem and the film's audio
