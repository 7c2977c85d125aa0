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
# at 517fefc: 91.47 % and 90.24 % recall (docs/redaction.md, "Measured quality").
# Sets 10-12 were written in the fourth session by three more writers and scored once on main
# at 7bb5660 with --lang guess (as the gateway scans): 95.42 %, 94.74 % and 96.91 % recall,
# 95.71 % pooled. Their floors sit about 2 points under those figures.
set(REDACT_FLOORS "heldout5,97.9" "heldout6,96" "heldout7,97.8" "heldout8,97" "heldout9,96")
list(APPEND REDACT_FLOORS "heldout10,96.5" "heldout11,98.3" "heldout12,98.4")
# Sets 13 and 14 were written in the fifth session by two more writers and scored once on main
# at e4c5d46 with --lang guess: 96.60 % and 96.39 % recall (96.48 % pooled). Floors 2 points under.
list(APPEND REDACT_FLOORS "heldout13,94.6" "heldout14,94.4")
# Dev sets of the third session, each written by the engineer who grew that part, so none is
# blind (their first scores are in docs/redaction.md). Each fails when recall drops below a
# floor about 2 points under the figure measured when it landed (or when precision, clean
# messages or identifiers miss the targets):
#   dev_lexhu  hu vocabulary (94 messages, written after the first step)
#   dev_lexen  en vocabulary (157 messages in four batches, each scored once before its misses
#              were added; figure 95.67 %, the first batch alone had a floor of 95)
#   dev_lexde  de vocabulary (128 messages, 18 clean)
#   dev_lexpl  pl vocabulary (106 messages, 20 clean)
#   dev2_lexde de vocabulary, fourth growth (117 messages in three batches, each scored once
#              before its misses were added: 74.07, 77.33 and 79.59 %; figure 95.65 %)
#   dev2_lexhu hu vocabulary, fourth session (83 messages in two batches written before tuning,
#              each scored once: 86.57 % on main d6593ec, 68.57 % on 99a654e; 97.83 % after)
#   dev2_lexpl pl vocabulary, fourth growth (batch 1 scored once before the growth: 79.82 %)
#   dev_mech   class mechanisms: lab findings, examinations with their object, state
#              predicates (80 de/en/pl/hu messages, 25 clean; first scored at 78.9 %)
#   dev2_lexen en vocabulary, fourth session (dev2_lexen.txt): batches written by the lexen
#              engineer, each scored once before its misses were added (first batch 71.6 %)
#   dev2_mech  class mechanisms, fourth session: person states, inflected hu/pl words, hyphen
#              compounds, vaccinations and tests by their object (tests/redact/dev2_mech.txt;
#              batches scored once before tuning, figures in its header)
list(APPEND REDACT_FLOORS "dev_lexhu,95" "dev_lexen,97.7" "dev_lexde,93" "dev_lexpl,97" "dev_mech,94" "dev2_lexde,94")
list(APPEND REDACT_FLOORS "dev2_lexhu,95")
list(APPEND REDACT_FLOORS "dev2_lexpl,96")
list(APPEND REDACT_FLOORS "dev2_lexen,94")
list(APPEND REDACT_FLOORS "dev2_mech,85")
# dev3_lexde5 de vocabulary, fifth growth (95 messages, 14 clean; three batches each scored once
#             before their misses were added: 58.33 %, 55.56 % and 68.18 %, figures in
#             dev3_lexde5.txt; final figure 93.81 %)
list(APPEND REDACT_FLOORS "dev3_lexde5,91.8")
# dev3_lexen5 en vocabulary, fifth session (dev3_lexen5.txt): three batches written by the
#            lexen5 engineer, each scored once before its misses were added: 81.71 % (42
#            messages, main 7b88cf8), 74.60 % (32 messages, main 7048ddd) and 75.93 % (24
#            messages, main a15096c); floor 2 points under the figure when it landed
list(APPEND REDACT_FLOORS "dev3_lexen5,91.5")
foreach(pair ${REDACT_FLOORS})
  string(REPLACE "," ";" pair "${pair}")
  list(GET pair 0 set)
  list(GET pair 1 floor)
  add_test(NAME unit/redact/${set}
    COMMAND redact_score --floor ${floor} ${CMAKE_CURRENT_SOURCE_DIR}/redact/${set}.jsonl)
  set_tests_properties(unit/redact/${set} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
