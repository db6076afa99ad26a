import spiralkit


def test_verbs_resolve_lazily_and_compress_module_is_callable():
    import spiralkit.compress as module
    from spiralkit.compress.spiral import compress

    assert spiralkit.compress is module and callable(spiralkit.compress)
    assert spiralkit.prune is module.prune and spiralkit.distill is module.distill
    assert module.compress_model is compress
