module example.com/c

go 1.19

require (
	github.com/open-policy-agent/opa v0.37.0-rc1
	golang.org/x/text v0.0.0-20170915032832-14c0d48ead0c
)
