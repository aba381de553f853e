NAME = "flat_pkg, on the import path"
