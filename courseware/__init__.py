"""Courseware built from the chapter notebooks: student and instructor editions, nbgrader source
notebooks and the book's exercise catalogue (see :mod:`courseware.editions`)."""
