"""`worldgen preview`: a local web page that shows a spec's world and cameras while it is edited.

The page is a view of the library, never a second reader of specs: the server loads the spec
as `worldgen validate` does, builds the World, and serves the glTF export of it (meshes,
colours, motion sampled at the film's frames) plus each shot's camera sampled per frame by
worldgen.camera. Modules: `scene` (spec -> what the page draws), `files` (which files may be
served), `frame` (one real rendered frame for comparison), `server` (HTTP, live updates),
`cli` (the command)."""
