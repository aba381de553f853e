NAME = "my_pkg, installed as a package"
