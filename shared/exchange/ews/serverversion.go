package ews

import (
	"fmt"
	"strings"
)

// ServerVersion is the ServerVersionInfo header of an EWS response: the
// Exchange build that answered (e.g. 15.20.8069.16, Version V2018_01_08).
type ServerVersion struct {
	Major, Minor, MajorBuild, MinorBuild int
	Version                              string // schema version name
}

// String is "15.20.8069.16 (V2018_01_08)", or "" when unknown.
func (v ServerVersion) String() string {
	if v == (ServerVersion{}) {
		return ""
	}
	s := fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.MajorBuild, v.MinorBuild)
	if v.Version != "" {
		s += " (" + v.Version + ")"
	}
	return s
}

// ServerVersion is the version the server reported in its most recent
// SOAP response that carried one (an answer, a per-message error or a SOAP
// fault); zero before the first one. Troubleshooting tools (ewsctl probe)
// show it; nothing in the client depends on it.
func (c *Client) ServerVersion() ServerVersion {
	if v := c.serverVersion.Load(); v != nil {
		return *v
	}
	return ServerVersion{}
}

// noteServerVersion reads ServerVersionInfo from the envelope holding e
// (any element of a parsed response).
func (c *Client) noteServerVersion(e elem) {
	if !e.ok() {
		return
	}
	h := elem{e.t, 0}.path("Header", "ServerVersionInfo")
	if !h.ok() {
		return
	}
	v := ServerVersion{
		Major:      parseInt(h.attr("MajorVersion")),
		Minor:      parseInt(h.attr("MinorVersion")),
		MajorBuild: parseInt(h.attr("MajorBuildNumber")),
		MinorBuild: parseInt(h.attr("MinorBuildNumber")),
		Version:    truncate(strings.TrimSpace(h.attr("Version")), 64),
	}
	c.serverVersion.Store(&v)
}
