"""The course in Chinese: the glossary (术语表), the translation catalogue and the builder of the Chinese notebooks."""
from .glossary import Term, load_glossary

__all__ = ["Term", "load_glossary"]
