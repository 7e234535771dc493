module example.com/b

go 1.19

require (
	github.com/docker/distribution v2.8.0-beta.1+incompatible
	github.com/open-policy-agent/opa v0.33.1
	golang.org/x/text v0.3.7
)
