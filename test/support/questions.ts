/** The AskUserQuestion input the scripted models ask with (one question, two options). */
export const COLOR_QUESTION = {
  question: 'Which color?',
  header: 'Color',
  options: [
    { label: 'Red', description: 'warm' },
    { label: 'Blue', description: 'cool' },
  ],
  multiSelect: false,
};
