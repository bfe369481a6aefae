cat <<EOF | sh
rm -rf /
EOF
bash <<-"X"
	echo hi
	X
sh <<< "ls"
