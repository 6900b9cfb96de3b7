# Root conftest: wiring only. The verify plugin itself is registered through the pytest11 entry point.
pytest_plugins = ["pytester"]
