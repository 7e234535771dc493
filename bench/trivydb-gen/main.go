// Generates a trivy-db schema-2 BoltDB of realistic size for `npm run bench:trivydb`:
// a 'debian 12' bucket with N source packages x K advisories each, 'npm::GitHub Security Advisory Npm'
// with M packages, a 'vulnerability' bucket with every id, and data-source entries.
// Build offline with Debian's golang-go + golang-github-coreos-bbolt-dev:
//   GOPATH=/usr/share/gocode GO111MODULE=off go run main.go OUT_DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	dir := os.Args[1]
	must(os.MkdirAll(dir, 0o755))
	db, err := bolt.Open(filepath.Join(dir, "trivy.db"), 0o644, nil)
	must(err)
	defer db.Close()
	const debPkgs, perPkg, npmPkgs = 30000, 4, 20000
	vulnIDs := map[string]bool{}
	must(db.Update(func(tx *bolt.Tx) error {
		deb, _ := tx.CreateBucketIfNotExists([]byte("debian 12"))
		for i := 0; i < debPkgs; i++ {
			pb, _ := deb.CreateBucketIfNotExists([]byte(fmt.Sprintf("srcpkg%05d", i)))
			for j := 0; j < perPkg; j++ {
				id := fmt.Sprintf("CVE-20%02d-%05d", 10+j*3, i)
				vulnIDs[id] = true
				adv := map[string]interface{}{"FixedVersion": fmt.Sprintf("1.%d.%d-1+deb12u1", j, i%7)}
				if j == 3 {
					adv = map[string]interface{}{"Status": 5, "Severity": 1}
				}
				b, _ := json.Marshal(adv)
				pb.Put([]byte(id), b)
			}
		}
		npm, _ := tx.CreateBucketIfNotExists([]byte("npm::GitHub Security Advisory Npm"))
		for i := 0; i < npmPkgs; i++ {
			pb, _ := npm.CreateBucketIfNotExists([]byte(fmt.Sprintf("npmpkg%05d", i)))
			for j := 0; j < 2; j++ {
				id := fmt.Sprintf("GHSA-%04d-%04d-%04d", i%10000, j, i/10000)
				vulnIDs[id] = true
				b, _ := json.Marshal(map[string]interface{}{"PatchedVersions": []string{fmt.Sprintf("%d.5.0", j+1)}, "VulnerableVersions": []string{fmt.Sprintf(">= %d.0.0, < %d.5.0", j+1, j+1)}})
				pb.Put([]byte(id), b)
			}
		}
		vb, _ := tx.CreateBucketIfNotExists([]byte("vulnerability"))
		for id := range vulnIDs {
			b, _ := json.Marshal(map[string]interface{}{
				"Title": "synthetic " + id, "Description": "A generated advisory for benchmarking. " + id, "Severity": "MEDIUM",
				"VendorSeverity": map[string]int{"nvd": 2, "debian": 1},
				"CVSS": map[string]interface{}{"nvd": map[string]interface{}{"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "V3Score": 5.3}},
				"References": []string{"https://example.org/" + id},
			})
			vb.Put([]byte(id), b)
		}
		ds, _ := tx.CreateBucketIfNotExists([]byte("data-source"))
		ds.Put([]byte("debian 12"), []byte(`{"ID":"debian","Name":"Debian Security Tracker","URL":"https://salsa.debian.org/security-tracker-team/security-tracker"}`))
		ds.Put([]byte("npm::GitHub Security Advisory Npm"), []byte(`{"ID":"ghsa","Name":"GitHub Security Advisory Npm","URL":"https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm"}`))
		return nil
	}))
	must(os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"Version":2,"NextUpdate":"2099-01-01T00:00:00Z","UpdatedAt":"2026-11-01T00:00:00Z","DownloadedAt":"2026-11-01T00:00:00Z"}`), 0o644))
}
