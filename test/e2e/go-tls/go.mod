module rootsight.test/gotls

go 1.19
