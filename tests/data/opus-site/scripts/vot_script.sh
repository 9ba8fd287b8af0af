cat $input > $output
echo $text >> $output
