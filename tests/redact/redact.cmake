# SPDX-License-Identifier: Apache-2.0
# Redaction quality gate: builds the scorer and runs it over the labelled corpus;
# the test fails when a target of issue 6 is missed (see redact_score.c).
add_executable(redact_score ${CMAKE_CURRENT_SOURCE_DIR}/redact/redact_score.c)
target_link_libraries(redact_score PRIVATE caregate_policy PkgConfig::JANSSON project_warnings)
add_test(NAME unit/redact/score
  COMMAND redact_score ${CMAKE_CURRENT_SOURCE_DIR}/redact/corpus.jsonl)
set_tests_properties(unit/redact/score PROPERTIES LABELS unit TIMEOUT 120)
# Held-out sets (written after the engine was frozen, never tuned on), the identity
# development set dev_ident (written while developing the identity rules) and dev_dictb (a pl/hu
# dictionary dev set, not blind): figures only.
foreach(set heldout heldout2 heldout3 heldout4 dev_ident dev_dictb)
  add_test(NAME unit/redact/${set}
    COMMAND redact_score --report ${CMAKE_CURRENT_SOURCE_DIR}/redact/${set}.jsonl)
  set_tests_properties(unit/redact/${set} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
# Development set of the health-term generalisation (compounds, modifiers, lay
# complaints; written while building it, so optimistic): figures only.
add_test(NAME unit/redact/dev_morph
  COMMAND redact_score --report ${CMAKE_CURRENT_SOURCE_DIR}/redact/dev_morph.jsonl)
set_tests_properties(unit/redact/dev_morph PROPERTIES LABELS unit TIMEOUT 120)
# Dev set of the de/en dictionary growth (dev_dicta.txt, written by the same person who grew
# the lists, so not blind): figures only.
add_test(NAME unit/redact/dev_dicta
  COMMAND redact_score --report ${CMAKE_CURRENT_SOURCE_DIR}/redact/dev_dicta.jsonl)
set_tests_properties(unit/redact/dev_dicta PROPERTIES LABELS unit TIMEOUT 120)
# Blind held-out sets 5-7 (tests/redact/LABELLING.md), each scored once by the engine as it
# stood then; the figures are in docs/redaction.md. Here they guard against regressions: the
# test fails when recall falls below a floor just under the measured figure, or precision,
# identifiers or clean messages miss the issue's targets.
# Sets 8 and 9 were written in the third session by two more writers and scored once on main
# at 517fefc: 91.47 % and 90.24 % recall (docs/redaction.md, "Blind figures, third session").
foreach(pair "heldout5;96" "heldout6;95" "heldout7;97" "heldout8;90" "heldout9;89")
  list(GET pair 0 set)
  list(GET pair 1 floor)
  add_test(NAME unit/redact/${set}
    COMMAND redact_score --floor ${floor} ${CMAKE_CURRENT_SOURCE_DIR}/redact/${set}.jsonl)
  set_tests_properties(unit/redact/${set} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
# Dev set of the Hungarian vocabulary growth (dev_lexhu.txt, written by the engineer who grew
# the hu lists, after their first step: not blind). Fails when recall drops below the floor.
add_test(NAME unit/redact/dev_lexhu
  COMMAND redact_score --floor 95 ${CMAKE_CURRENT_SOURCE_DIR}/redact/dev_lexhu.jsonl)
set_tests_properties(unit/redact/dev_lexhu PROPERTIES LABELS unit TIMEOUT 120)
# English vocabulary dev set of the third growth (dev_lexen.txt: 157 en messages in four
# batches, 17 clean, written by the engineer who grew the lists; each batch scored once before
# its misses were added, so optimistic): floor 2 points under the figure measured when it landed
# (95.67 %; the first batch alone had 97.5 % and a floor of 95).
add_test(NAME unit/redact/dev_lexen
  COMMAND redact_score --floor 93 ${CMAKE_CURRENT_SOURCE_DIR}/redact/dev_lexen.jsonl)
set_tests_properties(unit/redact/dev_lexen PROPERTIES LABELS unit TIMEOUT 120)
# Dev set of the third German list growth (dev_lexde.txt: 128 de messages, 18 clean; written by
# the same person who grew the lists, so not blind). Floor 2 points under the figure at landing.
add_test(NAME unit/redact/dev_lexde
  COMMAND redact_score --floor 90 ${CMAKE_CURRENT_SOURCE_DIR}/redact/dev_lexde.jsonl)
set_tests_properties(unit/redact/dev_lexde PROPERTIES LABELS unit TIMEOUT 120)
# Polish dev set of the lexpl list growth (dev_lexpl.txt, written by the engineer who grew the
# lists, so not blind): fails when pl recall drops below a floor 2 points under the figure.
add_test(NAME unit/redact/dev_lexpl
  COMMAND redact_score --floor 96 ${CMAKE_CURRENT_SOURCE_DIR}/redact/dev_lexpl.jsonl)
set_tests_properties(unit/redact/dev_lexpl PROPERTIES LABELS unit TIMEOUT 120)
# Dev set of the class mechanisms (lab findings, examinations with their object, state
# predicates; dev_mech.txt: 80 de/en/pl/hu messages, 25 clean). Written after the mechanisms and
# scored once at 78.9 % before tuning on it, so not blind now. Floor 2 points under the figure.
add_test(NAME unit/redact/dev_mech
  COMMAND redact_score --floor 89 ${CMAKE_CURRENT_SOURCE_DIR}/redact/dev_mech.jsonl)
set_tests_properties(unit/redact/dev_mech PROPERTIES LABELS unit TIMEOUT 120)
