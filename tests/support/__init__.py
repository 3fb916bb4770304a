"""Code the tests (and the benchmark scripts) share but the product never runs: the tiny
test-model builders (`support.tiny`). Kept out of the `worldgen` package so that an installed
worldgen carries no test code; tests import it as `support.tiny` (pytest puts tests/ on the
path), the benchmark scripts through `_common.tiny_models()`."""
