"""The shared library of links, files and notes of a network."""
