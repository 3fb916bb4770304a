"""The model of the primary hits, which every frame key names: a module of its own so that
planning a render (its keys, what the store holds) does not import the rasterizers and their
compiled kernels, which a render the store already holds never runs."""

# Bump when the primary hits' bytes change, so that the frame store recomputes what an older
# model computed. 2: the static set and the moving parts by scan conversion where the cost
# model says so (a few edge pixels decided otherwise than Embree's). 3: characters' poses in
# their last bits (character/rig.py: their vector arithmetic on floats).
HITS_MODEL = 3
