module example.com/a

go 1.19

require (
	github.com/docker/distribution v2.7.0+incompatible
	github.com/open-policy-agent/opa v0.36.1
	golang.org/x/text v0.3.7-0.20210503195748-5c7c50ebbd4f
)
