"""A package, so that pytest names these modules ``project.test_*``: ``tests/browser`` has test files
of the same basenames (``test_teaching_kit.py``), and two top-level modules of one name cannot both
be imported in one run (``pytest tests tests/browser``). ``tests/project/test_test_command.py``
checks that no other basename is shared by two folders that are not packages."""
