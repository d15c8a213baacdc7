// @cairn/cairn/langgraph: the LangGraph checkpoint saver (`new CairnSaver(cairn.checkpointer)`). Its own
// entry because it needs the optional peers @langchain/langgraph-checkpoint and @langchain/core,
// which `@cairn/cairn` itself never imports.
export { CairnSaver } from '@cairn/checkpointer/langgraph';
