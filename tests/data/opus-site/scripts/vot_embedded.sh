echo not this one > $output
