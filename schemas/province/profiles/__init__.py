"""The shipped province profiles (``*.json`` package data) and the script that builds them."""
