#!/bin/bash
printf "%s %s %s %s %s" "$text" "$n" "$mode" "$x" "$flag" > "$output"
