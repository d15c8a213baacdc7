// @cairn/checkpointer/langgraph: CairnSaver, the LangGraph checkpoint saver over Cairn's
// checkpointer. A separate entry because it needs the optional peers @langchain/langgraph-checkpoint
// and @langchain/core: `@cairn/checkpointer` itself never imports LangGraph.
export { CairnSaver } from './cairn-saver.js';
