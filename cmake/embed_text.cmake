# SPDX-License-Identifier: Apache-2.0
# embed_text.cmake - turns a text file into a C string constant at build
# time, so that a binary carries its default data (no file to install or
# lose).  usage: cmake -DIN=file -DOUT=header.h -DNAME=symbol -P embed_text.cmake
get_filename_component(base "${IN}" NAME)
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" len)
math(EXPR bytes "${len} / 2")
# "\xNN" escapes split into short string pieces: C caps a literal's length
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){64})" "\\1\"\n\"" escaped "${escaped}")
file(WRITE "${OUT}" "/* generated from ${base}; do not edit */\nstatic const char ${NAME}[] =\n\"${escaped}\";\nstatic const unsigned long ${NAME}_len = ${bytes}UL;\n")
