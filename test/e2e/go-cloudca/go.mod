module nimbus.test/go-cloudca

go 1.19

require github.com/cloud-ca/go-cloudca v1.4.0
