// placeholder while written
